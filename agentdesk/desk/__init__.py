"""The desk: the agent's call workspace. Find the caller, check what goes to the payment page,
start the payment, watch its outcome. The top floor: it uses payments, customers and staff,
and nothing uses it."""
