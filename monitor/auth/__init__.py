"""Staff accounts: roles, argon2 password hashes, API tokens, login sessions, CSRF.

`store.UserStore` keeps accounts in SQLite; `middleware.AuthMiddleware` authenticates every
request except a short public list; `monitor.api.deps` turns the result into role checks.
"""
