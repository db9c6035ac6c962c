"""SMS senders behind one interface (services/messaging_ports.SmsSender): Twilio, local outbox, fake."""
