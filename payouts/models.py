# The compensation policy and the ledger arrive with the compensation issue.
