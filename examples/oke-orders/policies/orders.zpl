# ZPR policy "orders": the orders-api workload of the OKE cluster in the
# backend VCN. One statement per line; indented lines continue a statement.

# 0: the internet reaches the public load balancer on HTTPS only
in network.vcn:backend VCN allow '0.0.0.0/0' to connect to app.workload:orders-lb endpoints
    with protocol='tcp/443'

# 1: the load balancer forwards to the orders-api pods
in network.vcn:backend VCN allow app.workload:orders-lb endpoints to connect to app.workload:orders-api endpoints with protocol='tcp/8080'

# 2-4: orders-api pods mount their File Storage dataset (NFS, mount protocol, portmapper)
in network.vcn:backend VCN allow app.workload:orders-api endpoints to connect to storage.dataset:orders-fss endpoints with protocol='tcp/2049-2050'
in network.vcn:backend VCN allow app.workload:orders-api endpoints to connect to storage.dataset:orders-fss endpoints with protocol='tcp/111'
in network.vcn:backend VCN allow app.workload:orders-api endpoints to connect to storage.dataset:orders-fss endpoints with protocol='udp/111'
