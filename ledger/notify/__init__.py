"""The trader's notifications: `manage.py notify` reads the outbox (ledger_events) and sends what the trader chose
through Apprise, each event once per channel (docs/operations.md, "Notifications").

- messages: what each kind of notification says (`Message`), and `message_for`, an event's message.
- worker: the loop (`Worker`), its channels (`open_channels`), their token buckets and backoff.
"""
