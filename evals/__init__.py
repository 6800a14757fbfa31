"""Evaluation harness: datasets, runners and reports."""
