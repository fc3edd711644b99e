"""Collateral valuation learnt from a lender's own sales: model choice by cross-validation.

Candidates (segment median, shrunk depreciation curve, ridge, tuned monotone LightGBM, a blend) are
scored on the same folds of the user's data, the best is refit on every row, and cross-conformal
intervals come from the same folds. Versions are registered per bank; the one in use is the
explicitly promoted champion; any valuation can be reproduced from its version and input hash.
"""
