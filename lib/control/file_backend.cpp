#include "control/file_backend.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "control/allocation.hpp"
#include "control/atomic_file.hpp"
#include "io/error.hpp"
#include "net/fd.hpp"

namespace natkit::control {

namespace {

bool is_record_name(std::string_view name) {
    return name.size() > 5 && name[0] != '.' && name.substr(name.size() - 5) == ".json";
}

std::vector<std::string> list_directory(const std::string& directory) {
    std::vector<std::string> names;
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(directory.c_str()), ::closedir);
    if (!dir) {
        if (errno == ENOENT) return names;
        throw unavailable_error("cannot read " + directory + ": " + std::strerror(errno));
    }
    while (auto* entry = ::readdir(dir.get())) {
        if (entry->d_name[0] != '.') names.emplace_back(entry->d_name);
    }
    return names;
}

// An exclusive flock held while it lives.
class DirectoryLock {
  public:
    explicit DirectoryLock(const std::string& path)
        : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
        if (!fd_) throw unavailable_error("cannot open lock " + path + ": " + std::strerror(errno));
        while (::flock(fd_.get(), LOCK_EX) != 0) {
            if (errno != EINTR) {
                throw unavailable_error("cannot lock " + path + ": " + std::strerror(errno));
            }
        }
    }

  private:
    net::Fd fd_;
};

int poll_timeout(const std::optional<std::chrono::milliseconds>& wake_after) {
    if (!wake_after) return -1;
    return static_cast<int>(std::max<std::int64_t>(0, wake_after->count()));
}

// Whether a batch of inotify events touched a record (not a temporary file).
bool touches_record(const char* buffer, std::size_t size) {
    for (std::size_t at = 0; at < size;) {
        const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
        if (event->len == 0 || is_record_name(event->name)) return true;
        if (event->mask & IN_Q_OVERFLOW) return true;
        at += sizeof(inotify_event) + event->len;
    }
    return false;
}

}  // namespace

FileBackend::FileBackend(std::string root, std::string network)
    : root_(std::move(root)), network_(std::move(network)) {}

std::string FileBackend::nodes_directory() const {
    return root_ + "/" + network_ + "/nodes";
}
std::string FileBackend::alloc_directory() const {
    return root_ + "/" + network_ + "/alloc";
}

void FileBackend::check_root() const {
    struct stat st {};
    if (::stat(root_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        throw unavailable_error("control directory " + root_ +
                                " is not there (create it, or mount the shared directory)");
    }
}

void FileBackend::publish(const std::string& id, const std::string& record, std::chrono::seconds) {
    check_root();
    make_directories(nodes_directory());
    write_file_atomically(nodes_directory() + "/" + id + ".json", record + "\n");
}

std::vector<StoredNode> FileBackend::fetch() {
    check_root();
    std::vector<StoredNode> nodes;
    for (const auto& name : list_directory(nodes_directory())) {
        if (!is_record_name(name)) continue;
        auto path = nodes_directory() + "/" + name;
        if (auto text = read_file(path)) nodes.push_back({path, std::move(*text)});
    }
    return nodes;
}

void FileBackend::watch(const WatchCallback& callback) {
    check_root();
    make_directories(nodes_directory());
    net::Fd inotify(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (!inotify) throw unavailable_error(std::string("inotify: ") + std::strerror(errno));
    auto mask = IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE | IN_DELETE | IN_DELETE_SELF;
    if (::inotify_add_watch(inotify.get(), nodes_directory().c_str(), mask) < 0) {
        throw unavailable_error("cannot watch " + nodes_directory() + ": " + std::strerror(errno));
    }
    auto next = callback(WatchEvent::changed);
    while (!next.stop) {
        pollfd p{inotify.get(), POLLIN, 0};
        int ready = ::poll(&p, 1, poll_timeout(next.wake_after));
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0) throw unavailable_error(std::string("poll: ") + std::strerror(errno));
        if (ready == 0) {
            next = callback(WatchEvent::timer);
            continue;
        }
        alignas(inotify_event) char buffer[16384];
        bool changed = false;
        for (;;) {
            auto n = ::read(inotify.get(), buffer, sizeof buffer);
            if (n <= 0) break;
            changed = touches_record(buffer, static_cast<std::size_t>(n)) || changed;
        }
        if (changed) next = callback(WatchEvent::changed);
    }
}

net::IpAddress FileBackend::allocate(const std::string& id, const net::Prefix& range) {
    check_root();
    make_directories(alloc_directory());
    DirectoryLock lock(alloc_directory() + "/.lock");
    std::set<net::IpAddress> taken;
    for (const auto& name : list_directory(alloc_directory())) {
        auto text = read_file(alloc_directory() + "/" + name).value_or("");
        while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
        auto address = net::IpAddress::parse(text);
        if (!address) continue;
        if (name == id && range.contains(*address)) return *address;
        taken.insert(*address);
    }
    auto address = first_free_address(range, taken);
    if (!address) {
        throw Error(ExitCode::failure, "no free address left in " + range.to_string());
    }
    write_file_atomically(alloc_directory() + "/" + id, address->to_string() + "\n");
    return *address;
}

}  // namespace natkit::control
