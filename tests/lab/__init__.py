"""Tests of the covariate-shift lab's package, bn_core.lab."""
