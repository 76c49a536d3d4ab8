"""The performance model: the roofline of each layer on a calibrated device, and the calibration it reads."""
