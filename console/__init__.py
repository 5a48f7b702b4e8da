"""The dispatch console (docs/console.md): a live page where a dispatch centre sees its
deliveries and acts on them, over the Hit Gateway's topics.

- `board`: a destination's cards, folded from its topic's records (pure);
- `accounts`: who may log in, the password hashes, what each user may see, and the
  throttle on wrong passwords (pure);
- `sessions`: sessions and their CSRF tokens (pure);
- `views`: a card as the page shows it, in words (pure);
- `hub`: the boards between the feed (`connectors.console_feed`) and the pages, and
  the actions waiting for the gateway's answer;
- `app`: the web application (Starlette): the page, the API and the live stream;
- `server`: the settings, the start-up checks and the server (uvicorn).

The console decides no state itself: actions become the gateway's lifecycle events,
and the board shows the states the gateway wrote.
"""
