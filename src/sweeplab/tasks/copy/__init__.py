"""The copy task (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016): spec, data, training, validation, memory."""
