"""Accounts in the product: open a staff account from a person and invite them, open the staff
accounts of a subtree at once, deactivate, reactivate, reset (by an administrator, or oneself with
a code), the accounts list, and granting and revoking roles on the unit page. No daily task needs
the Django admin."""
