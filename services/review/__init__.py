"""Review service (Art. 9-11): provincial compliance review, expert panels with conflict-of-interest
exclusions and recusals, score sheets, ranking into tiers, the proposal under the budget, and
publicity with real-name objections and their investigation."""
