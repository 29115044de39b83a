"""The players', operators' and finance HTTPS API: everything the Chalice app's views share."""
