"""Credit risk for car loans: an application scorecard, early-warning alerts and a portfolio monitor."""
