"""Data sources: palindromes (Part I) and MNIST (Part II)."""
