"""The palindrome task (Part I): spec, data, training, validation and memory estimate."""
