"""SLA clocks on business calendars, escalation chains over WeCom, SMS and email, and managers'
digests (docs/sla.md)."""
