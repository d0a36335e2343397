/// The OpenAPI 3 document of serve's HTTP API, served at
/// `GET /api/v1/openapi.json`. `make test` checks the running server against
/// it with a property-based fuzzer (schemathesis): every answer must match.
enum OpenAPIDocument {
    static let json = #"""
    {
      "openapi": "3.0.3",
      "info": {
        "title": "Provisioner",
        "version": "1",
        "description": "serve's HTTP API: the registry's nodes (read, and write with the bearer token in <home>/api.token), discovered machines, VM instances, and the node controllers' enrollment and heartbeats. Every error is a JSON APIError; its kind decides the status (invalid_input 400, not_found 404, conflict 409, busy and unavailable 503 with Retry-After, failed 500)."
      },
      "paths": {
        "/healthz": {
          "get": {"operationId": "health", "summary": "Liveness", "responses": {"200": {"description": "ok", "content": {"text/plain": {"schema": {"type": "string"}}}}}}
        },
        "/api/v1/openapi.json": {
          "get": {"operationId": "openapi", "summary": "This document", "responses": {"200": {"description": "OpenAPI 3", "content": {"application/json": {"schema": {"type": "object"}}}}}}
        },
        "/api/v1/nodes": {
          "get": {
            "operationId": "listNodes", "summary": "Every node with its run-time status",
            "responses": {
              "200": {"description": "nodes by hostname", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/NodeStatus"}}}}},
              "500": {"$ref": "#/components/responses/Error"}, "503": {"$ref": "#/components/responses/Error"}
            }
          },
          "post": {
            "operationId": "addNodes", "summary": "Add a node, a hostlist (n[001-004], sequential addresses from ip) or a list of them: all or none",
            "security": [{"apiToken": []}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"oneOf": [
              {"$ref": "#/components/schemas/NodeInput"}, {"type": "array", "items": {"$ref": "#/components/schemas/NodeInput"}}]}}}},
            "responses": {
              "201": {"description": "added", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NodeChangeAnswer"}}}},
              "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"},
              "404": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}, "413": {"$ref": "#/components/responses/Error"},
              "500": {"$ref": "#/components/responses/Error"}, "503": {"$ref": "#/components/responses/Error"}
            }
          }
        },
        "/api/v1/nodes/{name}": {
          "parameters": [{"name": "name", "in": "path", "required": true, "description": "hostname or MAC (for DELETE also a hostlist)", "schema": {"type": "string", "minLength": 1}, "example": "n1"}],
          "get": {
            "operationId": "showNode", "summary": "One node's status",
            "responses": {
              "200": {"description": "the node", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NodeStatus"}}}},
              "400": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"},
              "500": {"$ref": "#/components/responses/Error"}, "503": {"$ref": "#/components/responses/Error"}
            }
          },
          "patch": {
            "operationId": "changeNode", "summary": "Change a node's hostname, MAC, IP or profile",
            "security": [{"apiToken": []}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NodeChange"}}}},
            "responses": {
              "200": {"description": "changed", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NodeChangeAnswer"}}}},
              "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"},
              "404": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}, "413": {"$ref": "#/components/responses/Error"},
              "500": {"$ref": "#/components/responses/Error"}, "503": {"$ref": "#/components/responses/Error"}
            }
          },
          "delete": {
            "operationId": "removeNodes", "summary": "Remove a node, or every node of a hostlist: all or none",
            "security": [{"apiToken": []}],
            "responses": {
              "200": {"description": "removed", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NodeChangeAnswer"}}}},
              "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"},
              "404": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}, "413": {"$ref": "#/components/responses/Error"},
              "500": {"$ref": "#/components/responses/Error"}, "503": {"$ref": "#/components/responses/Error"}
            }
          }
        },
        "/api/v1/discovered": {
          "get": {
            "operationId": "listDiscovered", "summary": "Machines that PXE-booted with a MAC nobody registered",
            "responses": {
              "200": {"description": "oldest first", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/DiscoveredMachine"}}}}},
              "500": {"$ref": "#/components/responses/Error"}, "503": {"$ref": "#/components/responses/Error"}
            }
          }
        },
        "/api/v1/discovered/{mac}/accept": {
          "parameters": [{"name": "mac", "in": "path", "required": true, "schema": {"type": "string", "minLength": 1}, "example": "02:00:00:00:00:99"}],
          "post": {
            "operationId": "acceptDiscovered", "summary": "Register a discovered machine: as a new node, into a named node, or into the first node waiting",
            "security": [{"apiToken": []}],
            "requestBody": {"required": false, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AcceptInput"}}}},
            "responses": {
              "200": {"description": "accepted", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NodeChangeAnswer"}}}},
              "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"},
              "404": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}, "413": {"$ref": "#/components/responses/Error"},
              "500": {"$ref": "#/components/responses/Error"}, "503": {"$ref": "#/components/responses/Error"}
            }
          }
        },
        "/api/v1/power": {
          "post": {
            "operationId": "powerNodes", "summary": "Power nodes on, off, cycle them or read their power state through their BMCs (per-node results)",
            "security": [{"apiToken": []}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PowerInput"}}}},
            "responses": {
              "200": {"description": "one result per node", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PowerAnswer"}}}},
              "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"},
              "404": {"$ref": "#/components/responses/Error"}, "413": {"$ref": "#/components/responses/Error"},
              "500": {"$ref": "#/components/responses/Error"}, "503": {"$ref": "#/components/responses/Error"}
            }
          }
        },
        "/api/v1/boot-next": {
          "post": {
            "operationId": "bootNext", "summary": "Make the nodes' next boot (only the next) a network boot, through their BMCs",
            "security": [{"apiToken": []}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PowerInput"}}}},
            "responses": {
              "200": {"description": "one result per node", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PowerAnswer"}}}},
              "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"},
              "404": {"$ref": "#/components/responses/Error"}, "413": {"$ref": "#/components/responses/Error"},
              "500": {"$ref": "#/components/responses/Error"}, "503": {"$ref": "#/components/responses/Error"}
            }
          }
        },
        "/api/v1/rollouts": {
          "get": {
            "operationId": "listRollouts", "summary": "Image rollouts, newest first, each with its batches and every node's state",
            "responses": {
              "200": {"description": "rollouts", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Rollout"}}}}},
              "500": {"$ref": "#/components/responses/Error"}, "503": {"$ref": "#/components/responses/Error"}
            }
          }
        },
        "/api/v1/instances": {
          "get": {
            "operationId": "listInstances", "summary": "VM instances, newest first",
            "responses": {
              "200": {"description": "instances", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/InstanceRecord"}}}}},
              "500": {"$ref": "#/components/responses/Error"}, "503": {"$ref": "#/components/responses/Error"}
            }
          }
        },
        "/api/v1/enroll": {
          "post": {
            "operationId": "enroll", "summary": "A booted node enrolls with its per-node token (node controllers only)",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EnrollRequest"}}}},
            "responses": {
              "200": {"description": "enrolled", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EnrollResponse"}}}},
              "400": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"},
              "413": {"$ref": "#/components/responses/Error"}, "500": {"$ref": "#/components/responses/Error"}, "503": {"$ref": "#/components/responses/Error"}
            }
          }
        },
        "/api/v1/heartbeat": {
          "post": {
            "operationId": "heartbeat", "summary": "An enrolled node's heartbeat, with its enrollment credential as bearer (node controllers only)",
            "security": [{"credential": []}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Heartbeat"}}}},
            "responses": {
              "200": {"description": "the node's instance work", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HeartbeatResponse"}}}},
              "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"},
              "409": {"$ref": "#/components/responses/Error"}, "413": {"$ref": "#/components/responses/Error"},
              "500": {"$ref": "#/components/responses/Error"}, "503": {"$ref": "#/components/responses/Error"}
            }
          }
        },
        "/metrics": {
          "get": {"operationId": "metrics", "summary": "Prometheus text", "responses": {"200": {"description": "metrics", "content": {"text/plain": {"schema": {"type": "string"}}}},
                                                                                              "500": {"$ref": "#/components/responses/Error"}, "503": {"$ref": "#/components/responses/Error"}}}
        }
      },
      "components": {
        "securitySchemes": {
          "apiToken": {"type": "http", "scheme": "bearer", "description": "the token in <home>/api.token"},
          "credential": {"type": "http", "scheme": "bearer", "description": "the credential an enrollment answered"}
        },
        "responses": {
          "Error": {"description": "refused or failed; nothing was changed", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/APIError"}}}}
        },
        "schemas": {
          "APIError": {
            "type": "object", "required": ["error"],
            "properties": {
              "error": {"type": "string", "description": "one line for people, naming the field and value"},
              "kind": {"type": "string", "enum": ["invalid_input", "not_found", "conflict", "busy", "unavailable", "failed"]},
              "field": {"type": "string"}, "value": {"type": "string"}, "holder": {"type": "string"}
            }
          },
          "NodeState": {"type": "string", "enum": ["discoverable", "registered", "booting", "enrolled", "ready", "lost"]},
          "Node": {
            "type": "object", "required": ["hostname", "mac", "ip", "profile", "state", "created_at", "updated_at"],
            "properties": {
              "hostname": {"type": "string"}, "mac": {"type": "string", "nullable": true}, "ip": {"type": "string"}, "profile": {"type": "string"},
              "state": {"$ref": "#/components/schemas/NodeState"}, "created_at": {"type": "string"}, "updated_at": {"type": "string"}
            }
          },
          "NodeInput": {
            "type": "object", "required": ["hostname"], "additionalProperties": false,
            "example": {"hostname": "n[010-012]", "ip": null},
            "properties": {
              "hostname": {"type": "string", "description": "a hostname or a hostlist such as n[001-004]"},
              "mac": {"type": "string", "nullable": true}, "ip": {"type": "string", "nullable": true, "description": "for a hostlist, the first of sequential addresses"},
              "profile": {"type": "string", "nullable": true}
            }
          },
          "NodeChange": {
            "type": "object", "additionalProperties": false, "minProperties": 1, "example": {"profile": "default"},
            "properties": {"hostname": {"type": "string"}, "mac": {"type": "string"}, "ip": {"type": "string"}, "profile": {"type": "string"}}
          },
          "AcceptInput": {
            "type": "object", "additionalProperties": false,
            "properties": {"hostname": {"type": "string"}, "profile": {"type": "string"}}
          },
          "NodeChangeAnswer": {
            "type": "object", "required": ["nodes", "boot_files"],
            "properties": {
              "nodes": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
              "boot_files": {
                "type": "object", "required": ["applied", "written", "removed", "actions"],
                "properties": {"applied": {"type": "boolean"}, "written": {"type": "integer"}, "removed": {"type": "integer"}, "actions": {"type": "array", "items": {"type": "string"}}}
              }
            }
          },
          "BootPhases": {
            "type": "object", "description": "boot phase → ISO 8601 time, for the current boot", "additionalProperties": false,
            "properties": {
              "dhcp": {"type": "string"}, "dhcp-ipxe": {"type": "string"}, "ipxe": {"type": "string"}, "kernel": {"type": "string"},
              "initrd": {"type": "string"}, "dhcp-initramfs": {"type": "string"}, "enrolled": {"type": "string"}
            }
          },
          "Hypervisor": {"type": "string", "enum": ["kvm", "qemu-tcg", "none"]},
          "InstanceState": {"type": "string", "enum": ["pending", "running", "shutoff", "crashed", "terminated", "failed"]},
          "Capacity": {
            "type": "object",
            "required": ["cores_max", "cores_free", "memory_mib_max", "memory_mib_free", "disk_mib_max", "disk_mib_free", "hypervisor", "hardware_virtualization"],
            "properties": {
              "cores_max": {"type": "integer"}, "cores_free": {"type": "integer"}, "memory_mib_max": {"type": "integer"}, "memory_mib_free": {"type": "integer"},
              "disk_mib_max": {"type": "integer"}, "disk_mib_free": {"type": "integer"}, "hypervisor": {"$ref": "#/components/schemas/Hypervisor"},
              "hardware_virtualization": {"type": "boolean"}, "hardware_virtualization_reason": {"type": "string"}, "libvirt_version": {"type": "string"}
            }
          },
          "ReportedInstance": {
            "type": "object", "required": ["id", "state", "vcpus", "memory_mib"],
            "properties": {"id": {"type": "string"}, "state": {"$ref": "#/components/schemas/InstanceState"}, "vcpus": {"type": "integer"},
                           "memory_mib": {"type": "integer"}, "message": {"type": "string"}}
          },
          "Rollout": {
            "type": "object", "required": ["id", "image", "target", "batches", "nodes", "status", "batch", "started_at", "updated_at"],
            "properties": {
              "id": {"type": "integer"}, "image": {"type": "string"}, "target": {"type": "string"}, "previous": {"type": "string"},
              "batches": {"type": "array", "items": {"type": "array", "items": {"type": "string"}}},
              "nodes": {"type": "object", "additionalProperties": {"type": "object", "required": ["state"], "properties": {
                "state": {"type": "string", "enum": ["pending", "draining", "cycling", "done", "failed", "rolled-back", "skipped"]},
                "pin_before": {"type": "string"}, "ran_before": {"type": "string"}, "note": {"type": "string"}, "seconds": {"type": "number"}}}},
              "status": {"type": "string", "enum": ["running", "done", "failed", "aborted"]},
              "batch": {"type": "integer"}, "batch_powered_at": {"type": "string"}, "started_at": {"type": "string"}, "updated_at": {"type": "string"},
              "message": {"type": "string"}, "options": {"type": "object"}
            }
          },
          "NodeStatus": {
            "type": "object", "required": ["hostname", "ip", "state", "phases"],
            "properties": {
              "hostname": {"type": "string"}, "mac": {"type": "string"}, "ip": {"type": "string"}, "state": {"$ref": "#/components/schemas/NodeState"},
              "image": {"type": "string", "description": "<image>/<generation> the node booted"}, "boot_started": {"type": "string"},
              "phases": {"$ref": "#/components/schemas/BootPhases"}, "capacity": {"$ref": "#/components/schemas/Capacity"},
              "instances": {"type": "array", "items": {"$ref": "#/components/schemas/ReportedInstance"}},
              "last_heartbeat": {"type": "string"}, "enrolled_at": {"type": "string"},
              "boot_timings": {"$ref": "#/components/schemas/NodeBootTimings"},
              "platform": {"$ref": "#/components/schemas/NodePlatform"},
              "boot_path": {"type": "object", "required": ["firmware", "loader"], "description": "how the current boot began, as the server saw it",
                            "properties": {"firmware": {"type": "string", "enum": ["bios", "uefi", "uefi-http"]}, "loader": {"type": "string"}}},
              "drained": {"type": "boolean", "description": "out of placement: no new instance goes to it"},
              "pinned": {"type": "string", "description": "the generation it is pinned to (else it follows the active one)"}
            }
          },
          "PowerInput": {
            "type": "object", "required": ["nodes"],
            "properties": {
              "action": {"type": "string", "enum": ["on", "off", "cycle", "status"]}, "device": {"type": "string", "enum": ["pxe"]},
              "nodes": {"type": "array", "items": {"type": "string"}, "description": "hostnames, MACs or hostlists; required, never all nodes by default"},
              "parallel": {"type": "integer", "minimum": 1, "maximum": 256}, "timeout": {"type": "number"}, "pxe": {"type": "boolean"}
            }
          },
          "PowerAnswer": {
            "type": "object", "required": ["results"],
            "properties": {"results": {"type": "array", "items": {
              "type": "object", "required": ["node", "action", "seconds"],
              "properties": {"node": {"type": "string"}, "action": {"type": "string"}, "result": {"type": "string"}, "error": {"type": "string"},
                             "failure": {"type": "string", "enum": ["unreachable", "authentication", "refused", "config", "failed"]},
                             "seconds": {"type": "number"}}}}}
          },
          "NodePlatform": {
            "type": "object", "required": ["firmware"], "description": "the node's firmware, as its controller reports it (same on the wire and out)",
            "properties": {"firmware": {"type": "string", "enum": ["bios", "uefi"]}, "secureboot": {"type": "boolean"}}
          },
          "NodeBootTimings": {
            "type": "object", "required": ["slowest_units"], "description": "the node's own boot, from systemd on the node",
            "properties": {
              "kernel_seconds": {"type": "number"}, "initrd_seconds": {"type": "number"}, "controller_start_seconds": {"type": "number"},
              "userspace_seconds": {"type": "number"},
              "slowest_units": {"type": "array", "items": {"type": "object", "required": ["unit", "seconds"],
                                                           "properties": {"unit": {"type": "string"}, "seconds": {"type": "number"}}}}
            }
          },
          "BootTimings": {
            "type": "object", "required": ["slowestUnits"], "description": "the node controllers' wire format (camelCase)",
            "properties": {
              "kernelSeconds": {"type": "number"}, "initrdSeconds": {"type": "number"}, "controllerStartSeconds": {"type": "number"},
              "userspaceSeconds": {"type": "number"},
              "slowestUnits": {"type": "array", "items": {"type": "object", "required": ["unit", "seconds"],
                                                          "properties": {"unit": {"type": "string"}, "seconds": {"type": "number"}}}}
            }
          },
          "DiscoveredMachine": {
            "type": "object", "required": ["mac", "first_seen", "last_seen", "seen", "via"],
            "properties": {"mac": {"type": "string"}, "ip": {"type": "string"}, "first_seen": {"type": "string"}, "last_seen": {"type": "string"},
                           "seen": {"type": "integer"}, "via": {"type": "string", "enum": ["dhcp", "dhcp-ipxe", "ipxe", "kernel", "initrd", "dhcp-initramfs", "enrolled"]}}
          },
          "InstanceSpecOut": {
            "type": "object", "required": ["id", "vcpus", "memory_mib"],
            "properties": {"id": {"type": "string"}, "vcpus": {"type": "integer"}, "memory_mib": {"type": "integer"}, "kernel": {"type": "string"},
                           "initrd": {"type": "string"}, "cmdline": {"type": "string"}, "disk": {"type": "string"}}
          },
          "InstanceRecord": {
            "type": "object", "required": ["id", "type", "vcpus", "memory_mib", "spec", "state", "desired", "created_at", "updated_at"],
            "properties": {
              "id": {"type": "string"}, "node": {"type": "string"}, "type": {"type": "string"}, "vcpus": {"type": "integer"}, "memory_mib": {"type": "integer"},
              "spec": {"$ref": "#/components/schemas/InstanceSpecOut"}, "state": {"$ref": "#/components/schemas/InstanceState"},
              "desired": {"type": "string", "enum": ["running", "terminated"]}, "message": {"type": "string"},
              "created_at": {"type": "string"}, "updated_at": {"type": "string"}
            }
          },
          "NodeCapacity": {
            "type": "object", "description": "the node controllers' wire format (camelCase)",
            "required": ["coresMax", "coresFree", "memoryMiBMax", "memoryMiBFree", "diskMiBMax", "diskMiBFree", "hypervisor", "hardwareVirtualization"],
            "properties": {
              "coresMax": {"type": "integer"}, "coresFree": {"type": "integer"}, "memoryMiBMax": {"type": "integer"}, "memoryMiBFree": {"type": "integer"},
              "diskMiBMax": {"type": "integer"}, "diskMiBFree": {"type": "integer"}, "hypervisor": {"$ref": "#/components/schemas/Hypervisor"},
              "hardwareVirtualization": {"type": "boolean"}, "hardwareVirtualizationReason": {"type": "string"}, "libvirtVersion": {"type": "string"}
            }
          },
          "InstanceStatus": {
            "type": "object", "required": ["id", "state", "vcpus", "memoryMiB"],
            "properties": {"id": {"type": "string"}, "state": {"$ref": "#/components/schemas/InstanceState"}, "vcpus": {"type": "integer"},
                           "memoryMiB": {"type": "integer"}, "message": {"type": "string"}}
          },
          "InstanceSpec": {
            "type": "object", "required": ["id", "vcpus", "memoryMiB"],
            "properties": {"id": {"type": "string"}, "vcpus": {"type": "integer"}, "memoryMiB": {"type": "integer"}, "kernel": {"type": "string"},
                           "initrd": {"type": "string"}, "cmdline": {"type": "string"}, "disk": {"type": "string"}}
          },
          "EnrollRequest": {
            "type": "object", "required": ["mac", "hostname", "ip", "token", "capacity", "instances", "controllerVersion"],
            "properties": {
              "mac": {"type": "string"}, "hostname": {"type": "string"}, "ip": {"type": "string"}, "token": {"type": "string"}, "image": {"type": "string"},
              "capacity": {"$ref": "#/components/schemas/NodeCapacity"}, "instances": {"type": "array", "items": {"$ref": "#/components/schemas/InstanceStatus"}},
              "uptimeSeconds": {"type": "number"}, "controllerVersion": {"type": "string"},
              "bootTimings": {"$ref": "#/components/schemas/BootTimings"}, "platform": {"$ref": "#/components/schemas/NodePlatform"}
            }
          },
          "EnrollResponse": {
            "type": "object", "required": ["hostname", "credential", "heartbeatSeconds"],
            "properties": {"hostname": {"type": "string"}, "credential": {"type": "string"}, "heartbeatSeconds": {"type": "number"}}
          },
          "Heartbeat": {
            "type": "object", "required": ["capacity", "instances", "sequence"],
            "properties": {"capacity": {"$ref": "#/components/schemas/NodeCapacity"}, "instances": {"type": "array", "items": {"$ref": "#/components/schemas/InstanceStatus"}},
                           "sequence": {"type": "integer"}, "bootTimings": {"$ref": "#/components/schemas/BootTimings"}}
          },
          "HeartbeatResponse": {
            "type": "object", "required": ["run", "terminate", "heartbeatSeconds"],
            "properties": {"run": {"type": "array", "items": {"$ref": "#/components/schemas/InstanceSpec"}}, "terminate": {"type": "array", "items": {"type": "string"}},
                           "heartbeatSeconds": {"type": "number"}}
          }
        }
      }
    }
    """#
}
