print("qrscpd-samples")
