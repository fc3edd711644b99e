// Command gocc is the benchmark's Go chaincode: the test contract's Put and Get on the official shim
// (fabric-chaincode-go/v2), served as chaincode-as-a-service like our Python server.
package main

import (
	"fmt"
	"os"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	pb "github.com/hyperledger/fabric-protos-go-apiv2/peer"
)

type testCC struct{}

func (testCC) Init(shim.ChaincodeStubInterface) *pb.Response { return shim.Success(nil) }

func (testCC) Invoke(stub shim.ChaincodeStubInterface) *pb.Response {
	fn, args := stub.GetFunctionAndParameters()
	switch fn {
	case "Put", "put":
		if len(args) != 2 {
			return shim.Error("Put expects key and value")
		}
		if err := stub.PutState(args[0], []byte(args[1])); err != nil {
			return shim.Error(err.Error())
		}
		return shim.Success(nil)
	case "Get", "get":
		if len(args) != 1 {
			return shim.Error("Get expects a key")
		}
		v, err := stub.GetState(args[0])
		if err != nil {
			return shim.Error(err.Error())
		}
		return shim.Success(v)
	}
	return shim.Error(fmt.Sprintf("function '%s' not found", fn))
}

func main() {
	server := &shim.ChaincodeServer{
		CCID:     os.Getenv("CHAINCODE_ID"),
		Address:  os.Getenv("CHAINCODE_SERVER_ADDRESS"),
		CC:       testCC{},
		TLSProps: shim.TLSProperties{Disabled: true},
	}
	if err := server.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "gocc:", err)
		os.Exit(1)
	}
}
