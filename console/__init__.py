"""The dispatch console (docs/console.md, to come with the web application): a live page
where a dispatch centre sees its deliveries and acts on them, over the Hit Gateway's
topics.

- `board`: a destination's cards, folded from its topic's records (pure);
- `accounts`: who may log in, the password hashes, what each user may see, and the
  throttle on wrong passwords (pure).

The console decides no state itself: actions become the gateway's lifecycle events,
and the board shows the states the gateway wrote.
"""
