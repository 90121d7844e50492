"""The built-in stand-in for VCC and the PCI provider (development and tests only).

It speaks the Payment API contract over real HTTP (token endpoint, the three calls, the webhook
with retries, the result purge), plays the provider's agent page and the caller's phone (a
keypad page), and offers fault knobs and a control API for tests. See README.md beside this
file. Its state lives in the database so that every web process shares it.
"""
