//! Minimal blocking NATS and Redis protocol clients, enough to check the servers are real.

use std::{
    io::{self, BufRead as _, BufReader, Read as _, Write as _},
    net::{Ipv4Addr, TcpStream},
    time::Duration,
};

/// Every read and write is bounded.
const IO_TIMEOUT: Duration = Duration::from_secs(5);

fn connect(port: u16) -> io::Result<(BufReader<TcpStream>, TcpStream)> {
    let stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok((BufReader::new(stream.try_clone()?), stream))
}

fn read_line(reader: &mut BufReader<TcpStream>) -> io::Result<String> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(line.trim_end().to_owned())
}

fn protocol_error(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

/// A NATS connection speaking the text protocol.
pub(crate) struct Nats {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    info: String,
    next_sid: u32,
}

impl Nats {
    /// Connects, reads `INFO`, sends `CONNECT` and round-trips a `PING`.
    pub(crate) fn connect(port: u16) -> io::Result<Self> {
        let (mut reader, mut writer) = connect(port)?;
        let info = read_line(&mut reader)?;
        if !info.starts_with("INFO {") {
            return Err(protocol_error(format!("expected INFO, got {info:?}")));
        }
        writer.write_all(
            b"CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true}\r\nPING\r\n",
        )?;
        let pong = read_line(&mut reader)?;
        if pong != "PONG" {
            return Err(protocol_error(format!("expected PONG, got {pong:?}")));
        }
        Ok(Self {
            reader,
            writer,
            info,
            next_sid: 1,
        })
    }

    /// The server's `INFO` line.
    pub(crate) fn info(&self) -> &str {
        &self.info
    }

    /// Publishes `payload` to `subject` and returns the payload of the first reply.
    pub(crate) fn request(&mut self, subject: &str, payload: &str) -> io::Result<String> {
        let sid = self.next_sid;
        self.next_sid += 1;
        let inbox = format!("_INBOX.raw.{sid}");
        write!(
            self.writer,
            "SUB {inbox} {sid}\r\nUNSUB {sid} 1\r\nPUB {subject} {inbox} {}\r\n{payload}\r\n",
            payload.len()
        )?;
        loop {
            let line = read_line(&mut self.reader)?;
            if line == "PING" {
                self.writer.write_all(b"PONG\r\n")?;
                continue;
            }
            let parts: Vec<&str> = line.split(' ').collect();
            let [verb, subject, _sid, len] = parts[..] else {
                return Err(protocol_error(format!("unexpected line {line:?}")));
            };
            if verb != "MSG" || subject != inbox {
                return Err(protocol_error(format!("unexpected line {line:?}")));
            }
            let len: usize = len
                .parse()
                .map_err(|_| protocol_error(format!("bad length in {line:?}")))?;
            let mut body = vec![0; len + 2];
            self.reader.read_exact(&mut body)?;
            body.truncate(len);
            return String::from_utf8(body).map_err(|e| protocol_error(e.to_string()));
        }
    }
}

/// A Redis connection speaking RESP.
pub(crate) struct Redis {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Redis {
    pub(crate) fn connect(port: u16) -> io::Result<Self> {
        let (reader, writer) = connect(port)?;
        Ok(Self { reader, writer })
    }

    /// Sends one command and returns the first line of the reply (`+PONG`, `+OK`, …).
    pub(crate) fn command(&mut self, args: &[&str]) -> io::Result<String> {
        let mut req = format!("*{}\r\n", args.len());
        for arg in args {
            req.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        self.writer.write_all(req.as_bytes())?;
        read_line(&mut self.reader)
    }
}
