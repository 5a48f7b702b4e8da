"""The Hit Gateway's rules, pure (no Flink, no Kafka): who receives a hit and what becomes of it.

- `config`: the routing configuration, refused whole with every problem's line;
- `labels`: the labels a hit is routed on (spec hit-gateway §2);
- `routing`: the routing tree's walk and the covert rule (§3);
- `events`: lifecycle events and their shape;
- `lifecycle`: one hit's deliveries, their state table, escalation, "taken by"
  and feedback (§4, §5);
- `records`: what the gateway emits: messages, audit rows, refused events (§4-§6).
"""
