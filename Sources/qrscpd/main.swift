print("qrscpd")
