import NIOCore

/// Server-Sent Events framing.
enum SSEFrame {
    /// One event. `data` must be a single line (JSON from llmq's writers is); any line break in it
    /// is split into `data:` lines, as the SSE format asks.
    static func event(id: String?, name: String?, data: some Collection<UInt8>) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(data.count + 64 + (id?.utf8.count ?? 0))
        if let id {
            buffer.writeString("id: ")
            buffer.writeString(id)
            buffer.writeInteger(UInt8(ascii: "\n"))
        }
        if let name {
            buffer.writeString("event: ")
            buffer.writeString(name)
            buffer.writeInteger(UInt8(ascii: "\n"))
        }
        buffer.writeString("data: ")
        if data.contains(where: { $0 == 0x0A || $0 == 0x0D }) {
            for byte in data {
                if byte == 0x0A { buffer.writeString("\ndata: ") } else if byte != 0x0D { buffer.writeInteger(byte) }
            }
        } else {
            buffer.writeBytes(data)
        }
        buffer.writeString("\n\n")
        return buffer
    }

    /// An event whose data is a UTF-8 string.
    static func event(id: String? = nil, name: String?, text: String) -> ByteBuffer {
        event(id: id, name: name, data: Array(text.utf8))
    }

    /// OpenAI's streaming form: `data: <json>` and a blank line, no name.
    static func data(_ json: [UInt8]) -> ByteBuffer { event(id: nil, name: nil, data: json) }
}
