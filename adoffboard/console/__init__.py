"""The web console (`adoffboard serve`): pages over the same store and application layer as the
CLI, for the people who are not at a terminal (Account Managers, Retention, approvers, finance,
accounting, QA, the removals team, the operations lead).

People sign in through the agency's identity provider (OpenID Connect); every action is checked on
the server by the same rules the CLI uses (`adoffboard.cr.rules`, `adoffboard.tasks`,
`adoffboard.scheduling`), and every form carries a CSRF token.
"""
