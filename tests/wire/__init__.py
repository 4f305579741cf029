"""Tests of suricate.wire (messages, bus, RabbitMQ). Until typed-message tests land here, the bus
over real RabbitMQ is exercised through tests/node and tests/scenarios."""
