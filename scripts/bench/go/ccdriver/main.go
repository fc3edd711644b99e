// Command ccdriver is the benchmark's fake peer: it dials a chaincode server (chaincode-as-a-service),
// registers it the way a peer does (REGISTERED, READY — with Fabric 3.x ChaincodeAdditionalParams when
// -batch is set), keeps -inflight TRANSACTION messages in flight on each of -streams streams (one
// connection each), and answers every state request at once with a canned value. It counts
// completed transactions in a measurement window after a warm-up, reads the CPU time (utime+stime
// from /proc/<pid>/stat) of the -pids processes over exactly that window, and prints one JSON line.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	pb "github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

const clockTicks = 100.0 // USER_HZ on Linux

func cpuSeconds(pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	s := string(raw)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / clockTicks
}

func processCPU(pids []int) map[string]float64 {
	out := map[string]float64{}
	for _, p := range pids {
		out[strconv.Itoa(p)] = cpuSeconds(p)
	}
	return out
}

func mustMarshal(m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

func signedProposal(txid, channel string, args [][]byte) *pb.SignedProposal {
	chdr := &common.ChannelHeader{Type: int32(common.HeaderType_ENDORSER_TRANSACTION), ChannelId: channel, TxId: txid, Timestamp: timestamppb.Now()}
	creator := []byte("bench-creator")
	shdr := &common.SignatureHeader{Creator: creator, Nonce: []byte("0123456789abcdef01234567")}
	spec := &pb.ChaincodeInvocationSpec{ChaincodeSpec: &pb.ChaincodeSpec{ChaincodeId: &pb.ChaincodeID{Name: "bench"}, Input: &pb.ChaincodeInput{Args: args}}}
	payload := &pb.ChaincodeProposalPayload{Input: mustMarshal(spec)}
	prop := &pb.Proposal{Header: mustMarshal(&common.Header{ChannelHeader: mustMarshal(chdr), SignatureHeader: mustMarshal(shdr)}), Payload: mustMarshal(payload)}
	return &pb.SignedProposal{ProposalBytes: mustMarshal(prop), Signature: []byte("not-checked")}
}

type counters struct {
	done   atomic.Int64
	errors atomic.Int64
	reqs   atomic.Int64
}

func runStream(ctx context.Context, addr string, stream int, inflight int, fn string, batch bool, c *counters, ready *sync.WaitGroup, start <-chan struct{}, stop *atomic.Bool) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(100<<20), grpc.MaxCallSendMsgSize(100<<20)))
	if err != nil {
		return err
	}
	defer conn.Close()
	st, err := pb.NewChaincodeClient(conn).Connect(ctx)
	if err != nil {
		return err
	}
	first, err := st.Recv()
	if err != nil {
		return err
	}
	if first.Type != pb.ChaincodeMessage_REGISTER {
		return fmt.Errorf("expected REGISTER, got %s", first.Type)
	}
	if err := st.Send(&pb.ChaincodeMessage{Type: pb.ChaincodeMessage_REGISTERED}); err != nil {
		return err
	}
	ready0 := &pb.ChaincodeMessage{Type: pb.ChaincodeMessage_READY}
	if batch {
		ready0.Payload = mustMarshal(&pb.ChaincodeAdditionalParams{UseWriteBatch: true, MaxSizeWriteBatch: 1000, UseGetMultipleKeys: true, MaxSizeGetMultipleKeys: 1000})
	}
	if err := st.Send(ready0); err != nil {
		return err
	}
	ready.Done()
	<-start

	value := []byte(strings.Repeat("v", 64))
	// one prepared TRANSACTION per slot; the tx id changes per use
	const channel = "bench"
	seq := 0
	next := func(slot int) *pb.ChaincodeMessage {
		seq++
		txid := fmt.Sprintf("s%d-%d-%d", stream, slot, seq)
		key := []byte(fmt.Sprintf("key%03d", seq%1000))
		var args [][]byte
		if fn == "put" {
			args = [][]byte{[]byte("Put"), key, value}
		} else {
			args = [][]byte{[]byte("Get"), key}
		}
		return &pb.ChaincodeMessage{Type: pb.ChaincodeMessage_TRANSACTION, Txid: txid, ChannelId: channel,
			Payload: mustMarshal(&pb.ChaincodeInput{Args: args}), Proposal: signedProposal(txid, channel, args)}
	}
	slotOf := map[string]int{}
	for i := 0; i < inflight; i++ {
		m := next(i)
		slotOf[m.Txid] = i
		if err := st.Send(m); err != nil {
			return err
		}
	}
	getResp := value
	multi := mustMarshal(&pb.GetStateMultipleResult{Values: [][]byte{value}})
	for {
		msg, err := st.Recv()
		if err != nil {
			if stop.Load() {
				return nil
			}
			return err
		}
		var reply *pb.ChaincodeMessage
		switch msg.Type {
		case pb.ChaincodeMessage_GET_STATE:
			c.reqs.Add(1)
			reply = &pb.ChaincodeMessage{Type: pb.ChaincodeMessage_RESPONSE, Payload: getResp, Txid: msg.Txid, ChannelId: msg.ChannelId}
		case pb.ChaincodeMessage_GET_STATE_MULTIPLE:
			c.reqs.Add(1)
			reply = &pb.ChaincodeMessage{Type: pb.ChaincodeMessage_RESPONSE, Payload: multi, Txid: msg.Txid, ChannelId: msg.ChannelId}
		case pb.ChaincodeMessage_PUT_STATE, pb.ChaincodeMessage_DEL_STATE, pb.ChaincodeMessage_WRITE_BATCH_STATE:
			c.reqs.Add(1)
			reply = &pb.ChaincodeMessage{Type: pb.ChaincodeMessage_RESPONSE, Txid: msg.Txid, ChannelId: msg.ChannelId}
		case pb.ChaincodeMessage_COMPLETED, pb.ChaincodeMessage_ERROR:
			if msg.Type == pb.ChaincodeMessage_ERROR {
				c.errors.Add(1)
			} else {
				resp := &pb.Response{}
				if proto.Unmarshal(msg.Payload, resp) != nil || resp.Status >= 400 {
					c.errors.Add(1)
				} else {
					c.done.Add(1)
				}
			}
			slot := slotOf[msg.Txid]
			delete(slotOf, msg.Txid)
			if stop.Load() {
				if len(slotOf) == 0 {
					st.CloseSend()
					return nil
				}
				continue
			}
			reply = next(slot)
			slotOf[reply.Txid] = slot
		case pb.ChaincodeMessage_KEEPALIVE:
			continue
		default:
			return fmt.Errorf("unexpected %s", msg.Type)
		}
		if err := st.Send(reply); err != nil {
			return err
		}
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:7052", "chaincode server address")
	streams := flag.Int("streams", 1, "streams (one connection each, as separate peers)")
	inflight := flag.Int("inflight", 1, "transactions in flight per stream")
	fn := flag.String("fn", "get", "get or put")
	warmup := flag.Duration("warmup", time.Second, "warm-up before the window")
	window := flag.Duration("duration", 3*time.Second, "measurement window")
	batch := flag.Bool("batch", false, "offer WRITE_BATCH_STATE / GET_STATE_MULTIPLE in READY (Fabric 3.x)")
	pidList := flag.String("pids", "", "comma-separated pids whose CPU is measured over the window")
	flag.Parse()
	var pids []int
	for _, p := range strings.Split(*pidList, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(p)); err == nil {
			pids = append(pids, n)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var c counters
	var ready sync.WaitGroup
	ready.Add(*streams)
	start := make(chan struct{})
	var stop atomic.Bool
	errs := make(chan error, *streams)
	var wg sync.WaitGroup
	for s := 0; s < *streams; s++ {
		wg.Add(1)
		go func(s int) {
			defer wg.Done()
			if err := runStream(ctx, *addr, s, *inflight, *fn, *batch, &c, &ready, start, &stop); err != nil {
				errs <- err
			}
		}(s)
	}
	waitReady := make(chan struct{})
	go func() { ready.Wait(); close(waitReady) }()
	select {
	case <-waitReady:
	case err := <-errs:
		fmt.Fprintln(os.Stderr, "ccdriver:", err)
		os.Exit(1)
	case <-time.After(20 * time.Second):
		fmt.Fprintln(os.Stderr, "ccdriver: chaincode did not register within 20s")
		os.Exit(1)
	}
	close(start)
	time.Sleep(*warmup)
	done0, err0, req0 := c.done.Load(), c.errors.Load(), c.reqs.Load()
	cpu0 := processCPU(pids)
	self0 := cpuSeconds(os.Getpid())
	t0 := time.Now()
	time.Sleep(*window)
	done1, err1, req1 := c.done.Load(), c.errors.Load(), c.reqs.Load()
	cpu1 := processCPU(pids)
	self1 := cpuSeconds(os.Getpid())
	elapsed := time.Since(t0).Seconds()
	stop.Store(true)
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(10 * time.Second):
	}
	cpu := map[string]float64{}
	for k, v := range cpu1 {
		cpu[k] = v - cpu0[k]
	}
	var firstErr string
	select {
	case err := <-errs:
		firstErr = err.Error()
	default:
	}
	out := map[string]any{
		"completed": done1 - done0, "errors": err1 - err0, "requests": req1 - req0, "seconds": elapsed,
		"cpu": cpu, "driver_cpu": self1 - self0, "stream_error": firstErr,
	}
	json.NewEncoder(os.Stdout).Encode(out)
}
