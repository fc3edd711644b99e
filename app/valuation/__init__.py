"""Collateral valuation: a residual-value model for used vehicles with intervals and explanations.

The model predicts log(price / new price) with LightGBM (monotone in age and mileage), wraps it
with a split-conformal interval, and registers every trained version on disk so any valuation can
be reproduced from its model version and the hash of its canonical inputs.
"""
