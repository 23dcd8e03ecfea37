"""The managers' board, the HTTP API for other systems, orders and forms that become tickets,
webhooks back, and the daily finance export (docs/api.md). ``runtime.Board`` is what
``main.py`` starts and mounts; ``router.py`` holds the room's durable timers."""
