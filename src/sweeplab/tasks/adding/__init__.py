"""The adding problem (Hochreiter & Schmidhuber 1997; Le et al. 2015): spec, data, training, validation, memory."""
