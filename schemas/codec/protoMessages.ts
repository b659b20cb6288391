// The descriptors of the dispatch.sdk.v1 messages, generated from schemas/proto by
// @bufbuild/protoc-gen-es; named `…Proto` beside the TypeBox schemas of their JSON.
export { CallResultSchema as CallResultProto, CallSchema as CallProto } from '../proto/gen/call_pb.gen.js'
export {
  DispatchCallSchema as DispatchCallProto,
  DispatchRequestSchema as DispatchRequestProto,
  DispatchResponseSchema as DispatchResponseProto,
} from '../proto/gen/dispatch_pb.gen.js'
export { ErrorSchema as ErrorProto } from '../proto/gen/error_pb.gen.js'
export { ExitSchema as ExitProto } from '../proto/gen/exit_pb.gen.js'
export {
  RunRequestSchema as RunRequestProto,
  RunResponseSchema as RunResponseProto,
} from '../proto/gen/function_pb.gen.js'
export { PollResultSchema as PollResultProto, PollSchema as PollProto } from '../proto/gen/poll_pb.gen.js'
