# Customers reach the web tier on HTTPS.
in network.vcn:prod VCN allow '0.0.0.0/0' to connect to app.tier:web endpoints
    with protocol='tcp/443'

# The web tier talks to its database.
in network.vcn:prod VCN allow app.tier:web endpoints to connect to app.tier:db endpoints with protocol='tcp/5432'
