"""A minimal webhook receiver for `make bench`: answers every request 200 with no body and
counts them. asyncio with raw protocols, so the receiver is not the bottleneck."""
import asyncio
import sys

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
count = 0


class Receiver(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""

    def data_received(self, data):
        global count
        self.buffer += data
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return
        length = 0
        for line in self.buffer[:head_end].split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        if len(self.buffer) >= head_end + 4 + length:
            count += 1
            self.transport.write(RESPONSE)
            self.transport.close()


async def report():
    while True:
        await asyncio.sleep(0.5)
        print(count, flush=True)


async def main(port):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Receiver, "127.0.0.1", port, backlog=1024)
    print("ready", flush=True)
    async with server:
        await report()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
