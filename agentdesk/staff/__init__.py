"""Staff: the people who use the desk and the admin. Agents and their VCC ids, the audit
trail, the roles, signing in (throttling, the second factor, client addresses) and session
timeouts, and what every admin page shares.

The bottom app: it imports nothing of the desk, payments or customers. Its database label is
still `agentdesk` (the app it came out of), so its tables, permissions and migration history
carry over unchanged.
"""
