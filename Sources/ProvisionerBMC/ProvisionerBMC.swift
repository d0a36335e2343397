// ProvisionerBMC: power through the nodes' baseboard management controllers.
//
// `BMCClient` is the seam; `IPMIClient` drives ipmitool (IPMI 2.0 over LAN) and
// `RedfishClient` speaks Redfish over HTTP(S) with AsyncHTTPClient. `BMCFanout`
// runs one action on many BMCs at once with a bounded width, and every result
// names its node. Passwords are read from 0600 files, never from arguments.
