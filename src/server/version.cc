// Placeholder translation unit so r1server is never an empty library; replaced by the server sources.
namespace r1::server {
const char* server_name() { return "r1"; }
}  // namespace r1::server
