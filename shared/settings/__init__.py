"""Settings shared by every service, and how they connect securely."""
