"""Which of an address's services leads (what IQGeo and provisioning are told about)."""

# Over `services s`: active before suspended before ordered, the newest first, ceased never.
LEADING_SERVICE_FILTER = "s.status <> 'ceased'"
LEADING_SERVICE_ORDER = ("CASE s.status WHEN 'active' THEN 0 WHEN 'suspended' THEN 1 "
                         "ELSE 2 END, s.status_since DESC, s.isp_id")
