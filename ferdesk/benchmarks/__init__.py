"""Benchmarks that compare ferdesk with its peers on composed clips (not run by the tests)."""
