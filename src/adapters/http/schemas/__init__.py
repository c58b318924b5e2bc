"""Request and response bodies: msgspec structs that reject unknown fields and bound every
string, number and list, so bad input fails at the door with a 400 instead of deeper in."""
