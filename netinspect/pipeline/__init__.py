"""``inspect_model`` as named steps: resolve -> device -> build -> inputs -> capture -> report."""
