"""Code the black-box tests share: import as helpers.capture, helpers.recorder, helpers.traffic.

(tcp_pair.py and udp_sender.py beside them are programs the tests run, not modules.)
"""
