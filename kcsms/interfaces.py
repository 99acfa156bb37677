"""
Every interface of kcsms, each with a prose specification.

Feature profiles are plugins (L{IFeatureProfilePlugin}) that make per-deployment
profiles (L{IFeatureProfile}); stores are split by aggregate (charge points,
id tags, transactions, statuses, calls) and return Deferreds of the value
objects in L{kcsms.model}; a connected station is an L{IChargePointSession}.
"""

from zope.interface import Attribute, Interface

__all__ = [
    "IFeatureProfilePlugin",
    "IFeatureProfile",
    "IChargePointSession",
    "ICentralSystem",
    "IChargePointStore",
    "IIdTagStore",
    "ITransactionStore",
    "IStatusStore",
    "ICallStore",
    "IMessageLogStore",
    "IClusterStore",
    "ILocalListStore",
    "IReservationStore",
    "IFirmwareStore",
    "IChargingProfileStore",
    "IStore",
]


class IFeatureProfilePlugin(Interface):
    """
    A feature profile as found in C{twisted/plugins/}: cheap to import, it only
    names the profile, the OCPP actions it owns, and how to make it.

    Discovered with C{getPlugins(IFeatureProfilePlugin)} and enabled by
    C{name} in C{[profiles] enabled}.
    """

    name = Attribute(
        "The profile's name, exactly as OCPP's SupportedFeatureProfiles spells it "
        "(C{Core}, C{SmartCharging}...) or, for a third-party profile, a name of its own. "
        "Unique across all plugins."
    )
    stationActions = Attribute(
        "Tuple of the actions a station may CALL that this profile answers, each "
        "with an C{ocpp_<Action>} responder on the profile."
    )
    centralActions = Attribute(
        "Tuple of the actions the central system may CALL on a station through this profile."
    )

    def makeProfile(options, centralSystem):
        """
        Make the profile for one deployment.

        @param options: the C{[profile:<name>]} INI section as a mapping of
            strings (empty when there is none).
        @param centralSystem: the L{ICentralSystem} the profile serves.
        @return: an L{IFeatureProfile}; one that also provides
            L{twisted.application.service.IService} is started after the store
            and stopped before it.
        @raise kcsms.config.ConfigError: for a bad option.
        """


class IFeatureProfile(Interface):
    """
    One enabled feature profile.

    A station's CALL C{Action} is answered by the method
    C{ocpp_<Action>(session, request)}, where C{session} is the
    L{IChargePointSession} and C{request} the schema-valid payload dict.  It
    returns the CALLRESULT payload dict, or a Deferred of it.  Raising an
    L{kcsms.ocppj.OcppError} answers with that CALLERROR; any other
    exception answers C{InternalError}.
    """

    name = Attribute("The plugin's name.")
    vendorIds = Attribute(
        "Tuple of DataTransfer vendorIds whose station DataTransfer CALLs this "
        "profile's C{ocpp_DataTransfer} answers (empty for most profiles)."
    )
    api = Attribute(
        "Optional.  An object whose methods declared with L{kcsms.api.router.route} "
        "join the operator API (and its OpenAPI document); its optional C{schemas} "
        "mapping adds OpenAPI component schemas, and its optional C{requestFactory} "
        "(a twisted.web C{Site.requestFactory}, e.g. one that limits and spools "
        "request bodies) makes the API's requests; at most one profile may set it."
    )


class IChargePointSession(Interface):
    """
    One charge point's WebSocket connection.
    """

    chargePointId = Attribute("The identity the station connected with (URL-decoded).")
    registration = Attribute(
        "C{Accepted}, C{Pending}, C{Rejected}, or L{None} for a station not registered."
    )

    def call(action, payload):
        """
        Send a CALL and wait for the answer.  At most one CALL is outstanding;
        later ones wait their turn.

        @return: a Deferred firing with the CALLRESULT payload, or failing with
            one of L{kcsms.errors.CallFailed}'s subclasses.
        """

    def close(code, reason):
        """
        Close the connection with a WebSocket close frame.
        """


class ICentralSystem(Interface):
    """
    The running central system: what profiles and host applications use.
    """

    config = Attribute("The L{kcsms.config.Config} it runs with.")
    store = Attribute("The L{IStore}; set once the service has started.")
    clock = Attribute("An L{twisted.internet.interfaces.IReactorTime}.")

    def call(chargePointId, action, payload):
        """
        CALL a connected station.

        @return: a Deferred firing with the station's CALLRESULT payload, or
            failing with L{kcsms.errors.UnknownChargePoint},
            L{kcsms.errors.NotConnected}, L{kcsms.errors.UnknownAction},
            L{kcsms.errors.ProfileDisabled}, L{kcsms.errors.PayloadInvalid},
            L{kcsms.errors.CallTimeout}, L{kcsms.errors.CallErrorReceived} or
            L{kcsms.errors.ResponseInvalid}.
        """

    def now():
        """
        @return: the current time (an aware UTC datetime) from the central
            system's clock.
        """

    def subscribe(observer):
        """
        Deliver every L{kcsms.events.Event} to C{observer} (a callable), after
        what it reports is committed.

        @return: a callable that unsubscribes it.
        """

    def publish(event):
        """
        Deliver an L{kcsms.events.Event} to every observer.
        """

    def isConnected(chargePointId):
        """
        @return: Deferred of whether the station is connected to this node
            or, in a cluster, to another live node.
        """

    def session(chargePointId):
        """
        @return: the L{IChargePointSession} connected as C{chargePointId}, or L{None}.
        """

    def listen(section, endpoints, factory, key="endpoint"):
        """
        Listen with C{factory} on Twisted server endpoint strings, e.g. for a
        profile that serves something of its own; the ports close when the
        central system stops.

        @param section: the INI section of the endpoints, for messages.
        @param key: their key in that section.
        @return: the L{twisted.internet.interfaces.IListeningPort}s.
        @raise kcsms.service.StartupError: when one cannot be listened on
            (the central system is stopped).
        """


class IChargePointStore(Interface):
    """
    Registered charge points: registration state, what they said at boot, when last seen.
    """

    def getChargePoint(chargePointId):
        """
        @return: Deferred of L{kcsms.model.ChargePoint} or L{None}.
        """

    def listChargePoints():
        """
        @return: Deferred of a list of L{kcsms.model.ChargePoint}, ordered by id.
        """

    def setRegistration(chargePointId, registration):
        """
        Register a charge point, or change its registration.

        @return: Deferred of C{True} when it was created, C{False} when updated.
        """

    def deleteChargePoint(chargePointId):
        """
        @return: Deferred of whether there was such a charge point.
        """

    def recordBootNotification(chargePointId, boot, at, registrationIfNew):
        """
        Store a BootNotification's L{kcsms.model.BootInfo} and mark the station
        seen at C{at}.  A charge point not registered yet is registered with
        C{registrationIfNew}, or, when that is L{None}, left unregistered.

        @return: Deferred of the L{kcsms.model.ChargePoint} after the update, or
            L{None} when it is not registered.
        """

    def recordSeen(seen):
        """
        Mark registered charge points seen (nothing for unregistered ones), in
        one transaction.

        @param seen: a mapping of chargePointId to when it was last seen.
        @return: Deferred of L{None}.
        """


class IIdTagStore(Interface):
    """
    Id tags and their IdTagInfo.  Id tags are case-insensitive (OCPP errata
    3.74): looking up C{"ab12"} finds C{"AB12"}.
    """

    def getIdTag(idTag):
        """
        @return: Deferred of L{kcsms.model.IdTag} or L{None}.
        """

    def listIdTags():
        """
        @return: Deferred of a list of L{kcsms.model.IdTag}, ordered by id tag.
        """

    def putIdTag(idTag):
        """
        Create or replace an L{kcsms.model.IdTag}.

        @return: Deferred of C{True} when it was created, C{False} when replaced.
        """

    def deleteIdTag(idTag):
        """
        @return: Deferred of whether there was such an id tag.
        """

    def forgetIdTag(idTag):
        """
        C{idTag} was changed elsewhere (by another cluster node, or in the
        database directly): read it from the database next time instead
        of using what is kept in memory.
        """


class ITransactionStore(Interface):
    """
    Transactions and their meter values.  Every method commits before its
    Deferred fires.
    """

    def startTransaction(
        chargePointId, connectorId, idTag, meterStart, timestamp, reservationId, idTagStatus
    ):
        """
        Record a StartTransaction.req and allocate its transaction id, a unique
        positive integer.  A retry (same station, connector, idTag, meterStart
        and timestamp) returns the transaction already recorded.

        @return: Deferred of the L{kcsms.model.Transaction}.
        """

    def startAuthorizedTransaction(
        chargePointId, connectorId, idTag, meterStart, timestamp, reservationId, now
    ):
        """
        In one transaction: look up C{idTag} and record a StartTransaction.req
        (as L{startTransaction}) with the status the tag has at C{now}
        (C{Invalid} when unknown, see L{kcsms.model.IdTag.statusAt}).

        @return: Deferred of C{(tag or None, transaction)}.
        """

    def stopTransaction(
        chargePointId, transactionId, idTag, meterStop, timestamp, reason, transactionData
    ):
        """
        Record a StopTransaction.req and its C{transactionData} (a sequence of
        L{kcsms.model.MeterValue}).  A stop for a transaction id that is not
        known is still kept (as an unmatched stop) with its meter values.

        @return: Deferred of the stopped L{kcsms.model.Transaction}, or L{None}
            when the id is not known.
        """

    def stopAuthorizedTransaction(
        chargePointId, transactionId, idTag, meterStop, timestamp, reason, transactionData
    ):
        """
        In one transaction: record a StopTransaction.req (as
        L{stopTransaction}) and look up C{idTag} when it is given.

        @return: Deferred of C{(stopped transaction or None, tag or None)}.
        """

    def addMeterValues(chargePointId, connectorId, transactionId, meterValues):
        """
        Record a MeterValues.req (C{transactionId} may be L{None}).

        @return: Deferred of L{None}.
        """

    def getTransaction(transactionId):
        """
        @return: Deferred of L{kcsms.model.Transaction} or L{None}.
        """

    def listTransactions(chargePointId=None, active=None):
        """
        @param chargePointId: only this station's, when given.
        @param active: only running (C{True}) or only stopped (C{False}) ones, when given.
        @return: Deferred of a list of L{kcsms.model.Transaction}, by transaction id.
        """

    def listUnmatchedStops(chargePointId):
        """
        @return: Deferred of the station's L{kcsms.model.UnmatchedStop}s
            (StopTransactions for transaction ids it has no transaction
            with), in the order received.
        """

    def getMeterValues(transactionId):
        """
        @return: Deferred of the list of L{kcsms.model.MeterValue} linked to the
            transaction (from MeterValues.req and StopTransaction's
            transactionData), in the order received.
        """


class IStatusStore(Interface):
    """
    StatusNotifications: the latest per connector, and the history.
    """

    def recordStatusNotification(status):
        """
        Record a L{kcsms.model.ConnectorStatus}; it becomes the connector's
        latest status unless a later one (by the station's timestamp) is already held.

        @return: Deferred of L{None}.
        """

    def getConnectorStatuses(chargePointId):
        """
        @return: Deferred of the latest L{kcsms.model.ConnectorStatus} of each
            connector (0 included), ordered by connector id.
        """

    def getStatusHistory(chargePointId, connectorId=None):
        """
        @return: Deferred of every recorded L{kcsms.model.ConnectorStatus}, in
            the order received.
        """


class ICallStore(Interface):
    """
    The calls the central system made to stations and the answers.
    """

    def recordCall(call):
        """
        Record a L{kcsms.model.CallRecord}.

        @return: Deferred of L{None}.
        """

    def listCalls(chargePointId):
        """
        @return: Deferred of the station's L{kcsms.model.CallRecord}s, oldest first.
        """


class IMessageLogStore(Interface):
    """
    The message log: every frame in and out, per station.
    """

    def appendMessages(messages):
        """
        Record a batch of L{kcsms.model.LoggedMessage}s, in order.

        @return: Deferred of L{None}.
        """

    def listMessages(chargePointId, limit):
        """
        @return: Deferred of the station's last C{limit}
            L{kcsms.model.LoggedMessage}s, newest last.
        """

    def pruneMessages(before, limit=None):
        """
        Forget the messages logged before the datetime C{before}, as work
        nobody waits on (after the writes that stations wait on).

        @param limit: when not L{None}, forget at most the oldest C{limit}
            writes' messages (a write's messages go together), so that one
            call holds the database only briefly; call again until it
            forgets nothing.
        @return: Deferred of how many messages were forgotten.
        """


class IClusterStore(Interface):
    """
    What several nodes sharing one database know of each other: each node's
    lease, which node holds each station's connection, and message bodies too
    large for a notification.  Times are aware datetimes.
    """

    def renewNode(nodeId, leaseUntil):
        """
        Record that C{nodeId} is alive until C{leaseUntil}.

        @return: Deferred of L{None}.
        """

    def removeNode(nodeId):
        """
        Forget a node that stops, and every presence it held.

        @return: Deferred of L{None}.
        """

    def setPresence(chargePointId, nodeId, at):
        """
        Record that C{nodeId} now holds the station's connection.

        @return: Deferred of the node that held it before (L{None} if none).
        """

    def clearPresence(chargePointId, nodeId):
        """
        Forget the station's presence if C{nodeId} still holds it.

        @return: Deferred of L{None}.
        """

    def locate(chargePointId, now):
        """
        @return: Deferred of the node holding the station's connection whose
            lease runs past C{now}, or L{None}.
        """

    def liveNodes(now):
        """
        @return: Deferred of the set of ids of the nodes whose lease runs
            past C{now}.
        """

    def listPresence(now):
        """
        @return: Deferred of a dict chargePointId -> node id, for nodes whose
            lease runs past C{now}.
        """

    def putClusterMessage(body, at):
        """
        Keep a message body (text) for another node to take.

        @return: Deferred of its id.
        """

    def getClusterMessage(messageId):
        """
        @return: Deferred of the body kept under C{messageId}, or L{None}.
        """

    def pruneClusterMessages(before):
        """
        Forget message bodies kept before C{before}.

        @return: Deferred of L{None}.
        """


class ILocalListStore(Interface):
    """
    Local authorization lists: named desired lists (entries C{idTag ->
    idTagInfo}), which stations follow which list, and what each station has
    installed.
    """

    def putLocalList(name, entries, at):
        """
        Create or replace a named list.

        @return: Deferred of C{True} when it was created.
        """

    def getLocalList(name):
        """
        @return: Deferred of the list's entries, or L{None} when there is no such list.
        """

    def listLocalLists():
        """
        @return: Deferred of the lists' names, sorted.
        """

    def deleteLocalList(name):
        """
        Delete a list; its stations follow no list any more.

        @return: Deferred of whether there was such a list.
        """

    def assignLocalList(chargePointId, name):
        """
        Make a station follow a named list.

        @return: Deferred of L{None}.
        """

    def getAssignment(chargePointId):
        """
        @return: Deferred of the name of the list the station follows, or L{None}.
        """

    def listMembers(name):
        """
        @return: Deferred of the ids of the stations following a list, sorted.
        """

    def getInstalledLocalList(chargePointId):
        """
        @return: Deferred of the station's L{kcsms.model.InstalledLocalList}
            (an unknown one when nothing is recorded).
        """

    def putInstalledLocalList(installed):
        """
        Record a L{kcsms.model.InstalledLocalList}.

        @return: Deferred of L{None}.
        """


class IReservationStore(Interface):
    """
    Reservations (L{kcsms.model.Reservation}) and their lifecycle.  The
    store allocates reservation ids; a ReserveNow sent with an id of the
    operator's own is recorded under that id.
    """

    def createReservation(chargePointId, connectorId, idTag, parentIdTag, expiryDate, at):
        """
        Record a reservation about to be sent in ReserveNow, as C{Requested},
        under a new reservation id.

        @return: Deferred of the L{kcsms.model.Reservation}.
        """

    def recordReservation(reservation):
        """
        Create or replace the reservation with C{reservation}'s id: a
        station's answer to a ReserveNow.  A reservation already recorded
        with its answer and the same station, connector, id tags and expiry
        date is left as it is.

        @return: Deferred of the L{kcsms.model.Reservation} recorded, or
            L{None} when it was left as it is.
        """

    def endReservation(reservationId, status, at, chargePointId=None, transactionId=None):
        """
        End an active (C{Requested} or C{Accepted}) reservation as C{Used},
        C{Cancelled} or C{Expired}.

        @param chargePointId: only if it is this station's, when given.
        @param transactionId: the transaction that used it.
        @return: Deferred of the ended L{kcsms.model.Reservation}, or L{None}
            when there is no such active reservation.
        """

    def deleteRequestedReservation(reservationId):
        """
        Forget a reservation that is still C{Requested} (its ReserveNow failed).

        @return: Deferred of whether there was one.
        """

    def getReservation(reservationId):
        """
        @return: Deferred of the L{kcsms.model.Reservation}, or L{None}.
        """

    def listReservations(chargePointId=None, active=None):
        """
        @param chargePointId: only this station's, when given.
        @param active: only active (C{True}) or only other (C{False}) ones, when given.
        @return: Deferred of a list of L{kcsms.model.Reservation}, by reservation id.
        """


class ISecurityStore(Interface):
    """
    Station credentials (L{kcsms.model.StationCredentials}), operator API
    tokens (L{kcsms.model.ApiToken}, kept only as the SHA-256 of the token)
    and the operator audit log (L{kcsms.model.AuditEntry}).
    """

    def getStationCredentials(chargePointId):
        """
        @return: Deferred of the station's L{kcsms.model.StationCredentials}
            (with neither profile nor password when nothing is recorded).
        """

    def setSecurityProfile(chargePointId, securityProfile):
        """
        Set a station's security profile; L{None} makes it follow the site default.

        @return: Deferred of L{None}.
        """

    def setPasswordHash(chargePointId, passwordHash):
        """
        Set the hash of a station's Basic-auth password, replacing the old one.

        @return: Deferred of L{None}.
        """

    def createApiToken(name, tokenHash, role, at):
        """
        Record a new token.

        @return: Deferred of C{False} when the name is taken (also by a
            revoked token), C{True} otherwise.
        """

    def getApiToken(tokenHash):
        """
        @return: Deferred of the L{kcsms.model.ApiToken} with that hash
            (revoked or not), or L{None}.
        """

    def revokeApiToken(name, at):
        """
        Revoke a token at once.

        @return: Deferred of whether there was such a token not yet revoked.
        """

    def listApiTokens():
        """
        @return: Deferred of every L{kcsms.model.ApiToken}, by name.
        """

    def recordAudit(entry):
        """
        Append an L{kcsms.model.AuditEntry} to the audit log.

        @return: Deferred of L{None}.
        """

    def listAudit(limit):
        """
        @return: Deferred of the latest C{limit} L{kcsms.model.AuditEntry}s, newest last.
        """


class IFirmwareStore(Interface):
    """
    Firmware management: firmware jobs (L{kcsms.model.FirmwareJob}: an
    UpdateFirmware or a GetDiagnostics of one station) with their history,
    the firmware images and diagnostics files kcsms hosts, and rollouts.
    Times are aware datetimes.
    """

    def createFirmwareJob(
        chargePointId, kind, request, at, deadline, uploadToken=None, rolloutId=None
    ):
        """
        Record a job about to be sent, as C{Requested}.

        @param kind: C{UpdateFirmware} or C{GetDiagnostics}.
        @param request: the payload.
        @param deadline: when it times out without progress.
        @param uploadToken: the credential of the upload address in C{request}.
        @return: Deferred of the L{kcsms.model.FirmwareJob}.
        """

    def recordFirmwareJobEvent(jobId, event, at, deadline, detail=None, fileName=None):
        """
        Add an event to a job's history (a status event becomes its status)
        and set its deadline (L{None} once it has ended) and, when given, the
        file name the station will upload.

        @return: Deferred of the job, or L{None} when there is no such job.
        """

    def reportFirmwareJobStatus(chargePointId, kind, status, at, deadline):
        """
        A station reported a status: the station's latest job of C{kind}
        takes it, unless that job has completed (or there is none); then a
        job with no request is created with that status.

        @return: Deferred of the L{kcsms.model.FirmwareJob}.
        """

    def getFirmwareJob(jobId):
        """
        @return: Deferred of the L{kcsms.model.FirmwareJob}, or L{None}.
        """

    def findUploadJob(uploadToken):
        """
        @return: Deferred of the job whose upload address carries
            C{uploadToken}, or L{None}.
        """

    def listFirmwareJobs(chargePointId=None, kind=None, rolloutId=None):
        """
        @return: Deferred of the jobs matching every filter given, by job id.
        """

    def timeOutFirmwareJobs(now):
        """
        Mark C{TimedOut} every job whose deadline is not after C{now}.

        @return: Deferred of the jobs timed out.
        """

    def putFirmwareImage(image):
        """
        Record a L{kcsms.model.FirmwareImage}, replacing one of the same name.

        @return: Deferred of C{True} when it was new.
        """

    def getFirmwareImage(name):
        """
        @return: Deferred of the L{kcsms.model.FirmwareImage}, or L{None}.
        """

    def listFirmwareImages():
        """
        @return: Deferred of every L{kcsms.model.FirmwareImage}, by name.
        """

    def recordDiagnosticsFile(file):
        """
        Record a L{kcsms.model.DiagnosticsFile}, replacing the station's file
        of the same name.

        @return: Deferred of L{None}.
        """

    def listDiagnosticsFiles(chargePointId):
        """
        @return: Deferred of the station's L{kcsms.model.DiagnosticsFile}s,
            oldest first.
        """

    def createFirmwareRollout(request, stations, pace, at):
        """
        Record a rollout of the UpdateFirmware C{request} to C{stations}, one
        every C{pace} seconds.

        @return: Deferred of the L{kcsms.model.FirmwareRollout}.
        """

    def getFirmwareRollout(rolloutId):
        """
        @return: Deferred of the L{kcsms.model.FirmwareRollout}, or L{None}.
        """

    def listFirmwareRollouts():
        """
        @return: Deferred of every L{kcsms.model.FirmwareRollout}, by id.
        """


class IChargingProfileStore(Interface):
    """
    The charging profiles each station has installed
    (L{kcsms.model.InstalledChargingProfile}), mirrored from its Accepted
    answers with OCPP 1.6's replacement and clearing rules.
    """

    def installChargingProfile(installed):
        """
        Record a profile the station accepted.  It replaces the station's
        profile with the same chargingProfileId, and the one with the same
        purpose and stackLevel on the same connector (OCPP 1.6 §5.16).

        @return: Deferred of the profiles it replaced.
        """

    def clearChargingProfiles(
        chargePointId,
        chargingProfileId=None,
        connectorId=None,
        purpose=None,
        stackLevel=None,
        transactionId=None,
    ):
        """
        Forget profiles as an accepted ClearChargingProfile clears them: the
        one with C{chargingProfileId} when given (the other criteria are then
        ignored); otherwise those matching every criterion given (all of the
        station's when none is).

        @param transactionId: only the TxProfiles of this transaction.
        @return: Deferred of the profiles forgotten.
        """

    def bindChargingProfiles(chargePointId, connectorId, transactionId):
        """
        Give the TxProfiles that await a transaction (of a
        RemoteStartTransaction on C{connectorId}, or on no connector) to the
        transaction that started on C{connectorId}.

        @return: Deferred of the profiles bound.
        """

    def listChargingProfiles(chargePointId, connectorId=None):
        """
        @param connectorId: only this connector's, when given.
        @return: Deferred of the station's profiles, by connector, purpose,
            stackLevel and chargingProfileId.
        """


class IStore(
    IChargePointStore,
    IIdTagStore,
    ITransactionStore,
    IStatusStore,
    ICallStore,
    IMessageLogStore,
    IClusterStore,
    ILocalListStore,
    IReservationStore,
    ISecurityStore,
    IFirmwareStore,
    IChargingProfileStore,
):
    """
    The whole store of one central system.
    """

    def close():
        """
        Close the database after every pending operation.

        @return: Deferred of L{None}.
        """
