"""Helpers of noxfile.py, kept apart so the noxfile holds only its sessions."""
