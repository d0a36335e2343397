// The node controller of every diskless node: wiring only (see NodeControllerKit).
import FoundationEssentials
import Glibc
import NodeControllerKit

NodeControllerApp.installSignalHandlers(log: .standardError)
let status = await NodeControllerApp.main(arguments: Array(CommandLine.arguments.dropFirst()))
exit(status)
