"""The DCGAN task (Part II) and its interpolation task: spec, data, training, quality, validation and memory estimate."""
