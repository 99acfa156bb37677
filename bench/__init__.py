"""
The kcsms benchmark: simulated charge points in several client processes
(L{bench.stations}), the servers they load (L{bench.servers}: a real
C{twistd kcsms} and the bare Autobahn responder of L{bench.bare_responder}),
and the scenarios and report of C{make bench} (L{bench.run}).
"""
