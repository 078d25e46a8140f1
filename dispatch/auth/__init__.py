"""Users, roles, scopes, bearer tokens and partner keys."""
