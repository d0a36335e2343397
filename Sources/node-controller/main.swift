import NodeControllerKit
print("node-controller")
